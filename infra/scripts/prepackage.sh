#!/usr/bin/env sh
# azd prepackage hook of the api service (azure.yaml): builds the deployment package in
# dist/azure-package/, which azd zips and deploys with remote build off (docs/operations.md,
# "Deployment package"). Fails, naming the fix, when the package would not be right.
set -eu
cd "$(dirname "$0")/../.."

# The compiler and tsx are devDependencies; azd may run this hook before its own `npm install`.
if [ ! -f node_modules/typescript/bin/tsc ] || [ ! -d node_modules/tsx ]; then
  npm ci --no-audit --no-fund
fi
npm run -s package:azure
