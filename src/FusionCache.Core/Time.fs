namespace Fusion.Core

open System

/// Instants are UTC ticks (`DateTimeOffset.UtcTicks`): a plain int64 keeps the hit path free of
/// struct copies and makes "no instant" (`Ticks.Never`) a comparison, not an option.
module internal Ticks =
    /// An instant that never comes.
    [<Literal>]
    let Never = Int64.MaxValue

    /// `at + span`, saturating at `Never` so that huge durations mean "forever", not overflow.
    let add (at: int64) (span: int64) : int64 =
        if span <= 0L then at
        elif at > Never - span then Never
        else at + span

    /// Of a soft and a hard timeout (`Timeout.InfiniteTimeSpan` for none), the one that fires first,
    /// and whether it is the soft one.
    let firstTimeout (soft: TimeSpan) (hard: TimeSpan) : struct (TimeSpan * bool) =
        let infinite = Threading.Timeout.InfiniteTimeSpan
        if soft <> infinite && (hard = infinite || soft < hard) then struct (soft, true) else struct (hard, false)

    /// Ticks of a duration, `Never` for an infinite one.
    let ofSpan (span: TimeSpan) : int64 =
        if span = Threading.Timeout.InfiniteTimeSpan then Never else span.Ticks
