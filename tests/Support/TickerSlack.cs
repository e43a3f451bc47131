namespace Fusion.Tests.Support;

/// <summary>How far behind the precise clock a ticker-based reading may be in a test on real time.</summary>
internal static class TickerSlack
{
    /// <summary>Far above a tick: what a saturated CI machine may add by not scheduling the ticker's thread.</summary>
    public static readonly long Behind = TimeSpan.FromMilliseconds(200).Ticks;
}
