"""Screens above the main desk: help, order detail, confirmations."""
