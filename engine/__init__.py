"""bpmdesk engine: BPMN deployment, runtime, persistence and time — nothing of HTTP."""
