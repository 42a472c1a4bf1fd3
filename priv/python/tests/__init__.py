"""Tests for snakepit_bridge; importing this package puts priv/python on sys.path."""
import os
import sys

PRIV_PYTHON = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if PRIV_PYTHON not in sys.path:
    sys.path.insert(0, PRIV_PYTHON)
