// The NN module; see Docs/ARCHITECTURE.md.
public enum NNModule {}
