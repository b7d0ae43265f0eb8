/// The time a driver gives its pure state machine: how long since the driver started, as a `Duration` (the
/// machines' `now`), and a sleep until such a time. Over `ContinuousClock` in production; tests give a manual
/// clock and move time themselves.
public struct ElapsedClock: Sendable {
    public let now: @Sendable () -> Duration
    private let sleepUntil: @Sendable (Duration) async throws -> Void

    public init<C: Clock & Sendable>(_ clock: C) where C.Duration == Duration {
        let start = clock.now
        now = { start.duration(to: clock.now) }
        sleepUntil = { try await clock.sleep(until: start.advanced(by: $0), tolerance: nil) }
    }

    public static var continuous: ElapsedClock { ElapsedClock(ContinuousClock()) }

    /// Returns at `deadline` (at once if it has passed); throws when the task is cancelled.
    public func sleep(until deadline: Duration) async throws { try await sleepUntil(deadline) }
}
