"""vigil.reasoning"""
