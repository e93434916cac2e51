"""WHAT gets trained: real torch trainables and benchmark blackboxes.

* `trainables.context`: the trainable API (`TrainContext`, `StopTrial`, `seed_everything`).
* `trainables.tabular:train_mlp`: a funnel MLP + recipe on scikit-learn's digits (fast, offline).
* `trainables.vision:train_cnn`: a macro CNN + recipe on Fashion-MNIST.
* `trainables.recipe`, `trainables.training`: the recipe (optimizer, schedule) and the shared
  segment loop (resume, per-epoch seeding, checkpoint at rungs, report).
* `trainables.blackboxes`: benchmark blackboxes for the simulator.

Imports `spaces` at most (where a model is compiled from a configuration), never the
orchestrator or the cluster layer.
"""
