"""Executors run segments: the simulator (virtual clock) now, Ray next."""
from orchestrator.executors.base import Executor, Report, Segment, SegmentDone, SegmentFailed
from orchestrator.executors.simulated import SimulatedExecutor

__all__ = ["Executor", "Report", "Segment", "SegmentDone", "SegmentFailed", "SimulatedExecutor"]
