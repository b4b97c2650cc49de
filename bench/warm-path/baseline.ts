/** The warm-path microbenchmark for another commit (`--baseline REF`): the whole-request tasks only. */
import { benchWorker, wholeTasks } from "./harness";

export default benchWorker(async (batch) => wholeTasks(batch));
