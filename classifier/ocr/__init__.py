"""Photo evidence: read banners, slides and signs in report photos and feed them to classification."""
