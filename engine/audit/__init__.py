"""What auditors rely on: tamper evidence (verify), replay of any case to any point, event-log
export for process-mining tools, and the four-eyes pairs of checked steps. Read-only: nothing here changes a case."""
from engine.audit.export import FORMATS, ExportCount, LogFilter, export_log
from engine.audit.foureyes import FourEyesReport, four_eyes_pairs
from engine.audit.replay import Divergence, ReplayResult, Snapshot, replay_instance
from engine.audit.verify import Problem, VerifyReport, verify

__all__ = [
    "FORMATS", "Divergence", "ExportCount", "FourEyesReport", "LogFilter", "four_eyes_pairs", "Problem", "ReplayResult", "Snapshot",
    "VerifyReport", "export_log", "replay_instance", "verify",
]
