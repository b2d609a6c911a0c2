"""Fleet bundles (../shared/spec/bundle.md): one JSON document carrying a fleet's
maintenance-relevant state in and out of Kanat."""
