extension Duration {
    /// Milliseconds as a floating-point number, for tables, logs and metrics.
    public var milliseconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }
}
