// Prints the service variables of the running devnet (data/devnet.json) as KEY=value lines, for `env $(…)`.
import { readFileSync } from 'node:fs';

const file = process.env.DEVNET_FILE ?? 'data/devnet.json';
let devnet: { env: Record<string, string> };
try {
  devnet = JSON.parse(readFileSync(file, 'utf8'));
} catch {
  console.error(`no devnet at ${file}: start one with npm run devnet`);
  process.exit(1);
}
for (const [key, value] of Object.entries(devnet.env)) console.log(`${key}=${value}`);
