"""vigil.reliability"""
