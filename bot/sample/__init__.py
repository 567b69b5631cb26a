"""Bundled sample data and a loopback stand-in for HubSpot, so `preview --sample` needs no credentials."""

from bot.sample.server import SAMPLE_TOKEN, SampleHubSpot, load_sample, sample_identifiers

__all__ = ["SAMPLE_TOKEN", "SampleHubSpot", "load_sample", "sample_identifiers"]
