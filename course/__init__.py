"""Backpropagation, layer by layer: forward passes, losses, data and gradient checkers.

This is the package students get. It holds no backward pass: writing those is the course.
"""

__version__ = "0.1.0"
