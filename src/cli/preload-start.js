/**
 * Loaded first by `npm start` (`node --import ./src/cli/preload-start.js --import tsx …`): a stop
 * signal while the service's code still loads ends the process with 0, as one during the rest of
 * start-up does, instead of with the signal's default action.
 */
import { stopDuringStartUp } from './stop-during-start-up.js';

stopDuringStartUp();
