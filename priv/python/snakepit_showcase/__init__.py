"""Showcase adapter: small tools exercising every feature of the bridge (and its failures)."""
