"""vigil.handlers"""
