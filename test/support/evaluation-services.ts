/**
 * The three evaluation services over one set of ports, wired as `bootstrap/composition-root.ts` wires
 * them, for tests that drive a whole run (start → collect → finalize) by hand.
 */
import { EvaluationRunFinalizer, type EvaluationRunFinalizerDeps } from '../../application/evaluation-run-finalizer.js';
import { EvaluationRunStarter, type EvaluationRunStarterDeps } from '../../application/evaluation-run-starter.js';
import { SubscriptionCollector, type SubscriptionCollectorDeps } from '../../application/evaluation-subscription-collector.js';
import type { EvaluationSettings } from '../../application/evaluation-run.js';

export type EvaluationTestDeps = Omit<EvaluationRunStarterDeps, 'finalizer' | 'settings'> &
  Omit<SubscriptionCollectorDeps, 'settings'> &
  Omit<EvaluationRunFinalizerDeps, 'settings'> & { readonly settings: EvaluationSettings };

export interface EvaluationTestServices {
  readonly starter: EvaluationRunStarter;
  readonly collector: SubscriptionCollector;
  readonly finalizer: EvaluationRunFinalizer;
}

export function evaluationServices(deps: EvaluationTestDeps): EvaluationTestServices {
  const finalizer = new EvaluationRunFinalizer(deps);
  return { starter: new EvaluationRunStarter({ ...deps, finalizer }), collector: new SubscriptionCollector(deps), finalizer };
}
