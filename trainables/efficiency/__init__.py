"""Inference efficiency of retrieval encoders (issue 15): geometry of embedding pools, search
cost, timing."""
