"""Citizen-view scenarios: stories run through the real engine over the platform twins, judged
by what a citizen finally sees on each network."""
