using Fusion.Core;
using LanguageExt;

namespace Fusion.Runtime;

/// <summary>Turns the core's untyped replies into the caller's typed results.</summary>
internal static class Replies
{
    public static Either<Err, T> ToEither<T>(string key, Reply reply) =>
        reply.IsValue ? Typed<T>(key, reply.Payload) : Either<Err, T>.Left(reply.Reason!);

    public static Either<Err, T> Typed<T>(string key, object payload) =>
        Cast.Try<T>(payload, out var v) ? Rights.Of(v) : Either<Err, T>.Left(WrongType<T>(key, payload));

    public static Err WrongType<T>(string key, object payload) =>
        Err.NewWrongType(key, typeof(T).Name, payload.GetType().Name);

    public static Either<Err, T> Cancelled<T>() =>
        Either<Err, T>.Left(Err.NewCancelled("the caller's cancellation token was cancelled"));
}
