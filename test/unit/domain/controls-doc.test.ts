import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { listControls } from '../../../domain/control-catalog.js';
import { CONTROLS_DOC, renderControlsDoc, renderMappingsSection } from '../../../scripts/render-controls-doc.js';

describe('docs/controls.md', () => {
  const doc = readFileSync(CONTROLS_DOC, 'utf8');

  it('shows the framework mappings the code decides (refresh with npx tsx scripts/render-controls-doc.ts)', () => {
    expect(doc).toBe(renderControlsDoc(doc));
  });

  it('has a mapping row and a catalog row for every control', () => {
    const section = renderMappingsSection();
    for (const c of listControls()) {
      expect(section, c.id).toContain(`| ${c.id} | `);
      expect(doc, c.id).toContain(`| ${c.id} | ${c.title} |`);
    }
  });
});
