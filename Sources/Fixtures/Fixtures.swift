// The Fixtures module; see Docs/ARCHITECTURE.md.
public enum FixturesModule {}
