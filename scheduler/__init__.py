"""APScheduler jobs: retry parked events, trial-expiration alerts, retention purge."""
