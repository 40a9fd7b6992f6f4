import { bigCopyScenario } from './big-copy.js';
import { bigNoop } from './big-noop.js';
import { coldBuild } from './cold-build.js';
import { lateCopyChange } from './late-copy-change.js';
import { noopRebuild } from './noop-rebuild.js';
import { pushScenario } from './push.js';
import { repushScenario } from './repush.js';
import { realWorld } from './real-world.js';
import type { Scenario } from './scenario.js';
import { smallRuns } from './small-runs.js';
import { startup } from './startup.js';

export type { Scenario } from './scenario.js';

/** Every scenario, in the order `make bench` runs them (later ones reuse the state earlier ones built). */
export const SCENARIOS: Scenario[] = [startup, coldBuild, noopRebuild, lateCopyChange, smallRuns, bigCopyScenario, bigNoop, pushScenario, repushScenario, realWorld];
