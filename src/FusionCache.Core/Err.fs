namespace Fusion

open System

/// The library's error type: every run-time failure comes back as `Left(Err)`, never as an exception.
/// Match it from F# with `match`, from C# with `err is Err.FactoryFailed f`.
[<NoComparison; CustomEquality>]
type Err =
    /// The factory returned `Left`, threw, or returned a faulted task. `Exception` is null when there was none.
    | FactoryFailed of Reason: string * Exception: (exn | null)
    /// The factory ran past its hard timeout and no fail-safe fallback could be served.
    | FactoryTimedOut of After: TimeSpan
    /// The distributed level (L2) failed; `Exception` is null when there was none.
    | DistributedFailed of Reason: string * Exception: (exn | null)
    /// Stored bytes could not be decoded.
    | PayloadUnreadable of Reason: string
    /// The key holds a value of another type than the one asked for.
    | WrongType of Key: string * Expected: string * Actual: string
    /// The caller's wait, or the factory, was cancelled.
    | Cancelled of Reason: string

    /// A one-line, human-readable description of the error.
    member this.Message =
        match this with
        | FactoryFailed(reason, _) -> $"factory failed: {reason}"
        | FactoryTimedOut after -> $"factory timed out after {after.TotalMilliseconds} ms"
        | DistributedFailed(reason, _) -> $"distributed cache failed: {reason}"
        | PayloadUnreadable reason -> $"payload unreadable: {reason}"
        | WrongType(key, expected, actual) -> $"key '{key}' holds a {actual}, not a {expected}"
        | Cancelled reason -> $"cancelled: {reason}"

    override this.ToString() = this.Message

    // Structural on the case and its text; exceptions compare by reference.
    override this.Equals(other: obj) =
        match other with
        | :? Err as o ->
            match this, o with
            | FactoryFailed(a, e1), FactoryFailed(b, e2)
            | DistributedFailed(a, e1), DistributedFailed(b, e2) -> a = b && obj.ReferenceEquals(e1, e2)
            | FactoryTimedOut a, FactoryTimedOut b -> a = b
            | PayloadUnreadable a, PayloadUnreadable b
            | Cancelled a, Cancelled b -> a = b
            | WrongType(k1, e1, a1), WrongType(k2, e2, a2) -> k1 = k2 && e1 = e2 && a1 = a2
            | _ -> false
        | _ -> false

    override this.GetHashCode() = hash this.Message

    /// A factory error with a message: `Err.Of("db down")`.
    static member Of(message: string) : Err = FactoryFailed(message, null)

    /// A factory error from an exception: `Err.Of(ex)`; the message is the exception's.
    static member Of(error: exn) : Err = FactoryFailed(error.Message, error)

/// Where the value a caller got came from (`FusionCache.GetOrSetEntry`).
type ValueSource =
    /// This node's memory level (L1): a hit, or the value a flight found there.
    | Memory = 0
    /// The distributed level (L2), read by the call's flight.
    | Distributed = 1
    /// The factory, run by the call's flight (a not-modified answer included: the value was renewed).
    | Factory = 2
    /// Fail-safe: the last good value, served stale because the factory failed or timed out.
    | FailSafe = 3
    /// Fail-safe: the caller's default value, as nothing had been cached.
    | FailSafeDefault = 4
