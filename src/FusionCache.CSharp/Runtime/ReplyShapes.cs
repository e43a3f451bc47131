using Fusion.Core;
using LanguageExt;

namespace Fusion.Runtime;

/// <summary>What a caller's reply is made into: the plain <c>Either&lt;Err, T&gt;</c> of GetOrSet, or the
/// <see cref="CachedValue{T}"/> of GetOrSetEntry. One miss path serves both; the plain one never pays for metadata.</summary>
internal interface IReplyShape<T, TResult>
{
    /// <summary>A value (of the wrong type: an error), with where it came from and when it was produced.</summary>
    static abstract TResult Value(string key, object payload, bool stale, ValueSource source, long timestamp);

    static abstract TResult Error(Err error);

    /// <summary>The error a result holds; null for a value.</summary>
    static abstract Err? ErrorOf(TResult result);
}

internal readonly struct PlainReply<T> : IReplyShape<T, Either<Err, T>>
{
    public static Either<Err, T> Value(string key, object payload, bool stale, ValueSource source, long timestamp) => Replies.Typed<T>(key, payload);

    public static Either<Err, T> Error(Err error) => Either<Err, T>.Left(error);

    public static Err? ErrorOf(Either<Err, T> result) => result.IsLeft ? (Err)result : null;
}

internal readonly struct EntryReply<T> : IReplyShape<T, Either<Err, CachedValue<T>>>
{
    public static Either<Err, CachedValue<T>> Value(string key, object payload, bool stale, ValueSource source, long timestamp) =>
        Cast.Try<T>(payload, out var v)
            ? Either<Err, CachedValue<T>>.Right(new CachedValue<T>(v, stale, source, timestamp))
            : Either<Err, CachedValue<T>>.Left(Replies.WrongType<T>(key, payload));

    public static Either<Err, CachedValue<T>> Error(Err error) => Either<Err, CachedValue<T>>.Left(error);

    public static Err? ErrorOf(Either<Err, CachedValue<T>> result) => result.IsLeft ? (Err)result : null;
}
