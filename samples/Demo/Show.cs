using System.Diagnostics;
using Fusion;
using LanguageExt;

namespace Demo;

/// <summary>Small printing helpers shared by the scenes.</summary>
internal static class Show
{
    /// <summary>"Right 'x'" or "Left: message".</summary>
    public static string Result<T>(Either<Err, T> result) =>
        result.Match(Right: v => $"Right {v}", Left: e => $"Left: {e.Message}");

    /// <summary>A line prefixed with the time elapsed on the scene's stopwatch.</summary>
    public static void Line(Stopwatch clock, string text) =>
        Console.WriteLine($"  [{clock.ElapsedMilliseconds,5} ms] {text}");

    /// <summary>A value the demo knows is there (it prints the error otherwise).</summary>
    public static string Value<T>(Either<Err, T> result) =>
        result.Match(Right: v => $"{v}", Left: e => $"<error: {e.Message}>");
}
