// Read BPMN files as Camunda Modeler does (bpmn-moddle with the Camunda 7 extension) and print,
// as one JSON line, every warning or error per file. Used by tests/test_modeler_reads.py.
import { readFileSync } from 'node:fs';
import { BpmnModdle } from 'bpmn-moddle';
import camunda from 'camunda-bpmn-moddle/resources/camunda.json' with { type: 'json' };

const moddle = new BpmnModdle({ camunda });
const findings = {};
for (const file of process.argv.slice(2)) {
  try {
    const { warnings } = await moddle.fromXML(readFileSync(file, 'utf8'));
    findings[file] = warnings.map((warning) => warning.message);
  } catch (error) {
    findings[file] = [`not readable: ${error.message}`];
  }
}
console.log(JSON.stringify(findings));
