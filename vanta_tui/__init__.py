"""VANTA desk: the operator console for the VANTA OS capital system."""
