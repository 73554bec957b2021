// Camunda's Node.js external-task client against bpmdesk: node worker.mjs BASE_URL USER PASSWORD COUNT
// Handles COUNT tasks of topic "refund-pay" by the case's amount (1: complete, 2: failure with no
// retries left, 3: BPMN error CARD_DECLINED), then prints what it did as JSON and stops.
import { Client, BasicAuthInterceptor, Variables, logger } from "camunda-external-task-client-js";

const [baseUrl, username, password, count] = process.argv.slice(2);
const done = [];
const client = new Client({
  baseUrl, workerId: "js-worker", asyncResponseTimeout: 5000, maxTasks: 1, autoPoll: false,
  interceptors: new BasicAuthInterceptor({ username, password }), use: logger.level("error"),
});
const finish = (code) => { client.stop(); console.log(JSON.stringify(done)); process.exit(code); };
setTimeout(() => finish(3), 20000);

client.subscribe("refund-pay", async ({ task, taskService }) => {
  const amount = task.variables.get("amount");
  if (amount === 1) {
    const result = new Variables().set("bank_ref", "JS-REF-1").set("fee", 2.5);
    await taskService.complete(task, result);
  } else if (amount === 2) {
    await taskService.handleFailure(task, { errorMessage: "bank offline", errorDetails: "timeout", retries: 0, retryTimeout: 0 });
  } else {
    await taskService.handleBpmnError(task, "CARD_DECLINED", "card declined", new Variables().set("reason", "expired"));
  }
  done.push({ amount, id: task.id, process: task.processInstanceId });
  if (done.length >= Number(count)) finish(0);
});
client.start();
