using System.Diagnostics.CodeAnalysis;

namespace Fusion;

/// <summary>Throw helpers, so that hot methods stay small enough to inline.</summary>
internal static class Throw
{
    [DoesNotReturn]
    public static void InvalidKey(string? key) =>
        throw new ArgumentException(key is null ? "The key must not be null." : "The key must not be empty.", nameof(key));

    [DoesNotReturn]
    public static void NullArgument(string name) => throw new ArgumentNullException(name);

    [DoesNotReturn]
    public static void Disposed() => throw new ObjectDisposedException(nameof(FusionCache));

    /// <summary>Throws when an option rule returned a message (null means valid).</summary>
    public static void IfInvalid(string? message, string name, object value)
    {
        if (message is not null) throw new ArgumentOutOfRangeException(name, value, message);
    }
}
