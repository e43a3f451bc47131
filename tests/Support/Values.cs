namespace Fusion.Tests.Support;

/// <summary>Common values the tests share.</summary>
internal static class Values
{
    public static readonly Err SourceDown = Err.Of("source down");
}
