"""WHAT gets trained: benchmark blackboxes for the simulator (`trainables.blackboxes`).

Imports `spaces` at most (where a model is compiled from a configuration), never the
orchestrator or the cluster layer.
"""
