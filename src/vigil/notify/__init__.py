"""vigil.notify"""
