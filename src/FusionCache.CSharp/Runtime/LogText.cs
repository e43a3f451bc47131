using System.Text;

namespace Fusion.Runtime;

/// <summary>Text from outside (keys, error messages) made safe for one log line: control characters escaped,
/// so a newline in a key cannot forge a line, and long text cut.</summary>
internal static class LogText
{
    public static string Of(string? text, int max = 200)
    {
        if (text is null) return "";
        var cut = text.Length > max;
        var span = cut ? text.AsSpan(0, max) : text.AsSpan();
        var clean = true;
        foreach (var c in span) if (char.IsControl(c) || char.IsSurrogate(c)) { clean = false; break; }
        if (clean) return cut ? string.Concat(span, "…") : text;
        var builder = new StringBuilder(span.Length + 16);
        foreach (var c in span)
        {
            if (c == '\n') builder.Append("\\n");
            else if (c == '\r') builder.Append("\\r");
            else if (c == '\t') builder.Append("\\t");
            else if (char.IsControl(c) || char.IsSurrogate(c)) builder.Append("\\u").Append(((int)c).ToString("x4"));
            else builder.Append(c);
        }
        if (cut) builder.Append('…');
        return builder.ToString();
    }
}

/// <summary>A warning that can come in floods (malformed channel messages, unreadable payloads): the first one
/// is logged, then at most one a period, carrying how many were not logged since.</summary>
internal sealed class LogThrottle(TimeSpan period)
{
    private long _nextAt = long.MinValue;
    private long _suppressed;

    /// <summary>Whether to log now; <paramref name="suppressed"/> is how many were skipped before this one.</summary>
    public bool ShouldLog(long now, out long suppressed)
    {
        var next = Volatile.Read(ref _nextAt);
        if (now >= next && Interlocked.CompareExchange(ref _nextAt, now + period.Ticks, next) == next)
        {
            suppressed = Interlocked.Exchange(ref _suppressed, 0);
            return true;
        }
        Interlocked.Increment(ref _suppressed);
        suppressed = 0;
        return false;
    }
}
