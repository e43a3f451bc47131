using System.Diagnostics;
using System.Runtime.CompilerServices;
using LanguageExt;

namespace Fusion.Runtime;

/// <summary>
/// <c>Right(value)</c> for values the cache already knows are not null (cached values never are).
/// <para>Why: <c>Either.Right</c> checks for null through a generic helper that shared generic code (every
/// reference <c>T</c>) reaches by a runtime lookup and a call: 6.4 ns against 1.9 ns for writing the two
/// fields directly (BenchmarkDotNet, this machine), a quarter of a cache hit. The fields are LanguageExt
/// 4.4.9's private ones, reached through <see cref="UnsafeAccessorAttribute"/>; a version without them
/// is detected once at start-up and the public constructor is used instead (<c>RightsTests</c> checks
/// both agree). The package depends on exactly LanguageExt.Core 4.4.9 (<c>[4.4.9]</c>): every 4.x carries
/// assembly version 4.0.0.0, so a later 4.x whose fields changed meaning could pass the probe unnoticed.
/// Setting the environment variable <c>FUSION_PUBLIC_RIGHT=1</c> turns the shortcut off (CI runs the
/// in-memory suite that way too, so the fallback path is tested, not only probed).</para>
/// </summary>
internal static class Rights
{
    /// <summary>Whether the direct path works with the loaded LanguageExt.</summary>
    public static readonly bool Direct = Probe();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Either<Err, T> Of<T>(T value)
    {
        Debug.Assert(value is not null);
        return Direct ? EitherFields<Err, T>.Right(value) : Either<Err, T>.Right(value);
    }

    private static bool Probe()
    {
        if (Environment.GetEnvironmentVariable("FUSION_PUBLIC_RIGHT") == "1") return false;
        try
        {
            var probe = new object();
            var either = EitherFields<Err, object>.Right(probe);
            return either.IsRight && either.Match(Right: r => ReferenceEquals(r, probe), Left: _ => false);
        }
        catch (Exception)
        {
            return false; // a missing field, or any other load failure of the accessors
        }
    }

    private static class EitherFields<L, R>
    {
        [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "right")]
        private static extern ref R RightOf(ref Either<L, R> either);

        [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "State")]
        private static extern ref EitherStatus StateOf(ref Either<L, R> either);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Either<L, R> Right(R value)
        {
            Either<L, R> either = default;
            RightOf(ref either) = value;
            StateOf(ref either) = EitherStatus.IsRight;
            return either;
        }
    }
}
