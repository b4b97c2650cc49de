/** The warm-path microbenchmark for another commit (`--baseline REF`): the whole-request tasks only, in one request context and each in its own. */
import { benchWorker, ownRequestTasks, wholeTasks } from "./harness";

export default benchWorker(async (batch) => ({ ...wholeTasks(batch), ...ownRequestTasks(batch) }));
