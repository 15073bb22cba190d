"""vigil.guard"""
