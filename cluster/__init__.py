"""WHERE trials run: the Ray connection, per-trial resources and the checkpoint storage root.

Imports nothing of rung's own (see DESIGN.md section 1). It is filled in with the Ray
executor; the simulated executor needs none of it.
"""
