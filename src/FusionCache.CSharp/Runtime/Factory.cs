using Fusion.Core;
using LanguageExt;
using Microsoft.FSharp.Core;

namespace Fusion.Runtime;

/// <summary>The user's factory in either shape, without a closure to adapt one to the other: a plain
/// factory costs no <see cref="FactoryContext{T}"/> either.</summary>
internal readonly struct Factory<T>
{
    private readonly Func<Task<Either<Err, T>>>? _plain;
    private readonly Func<FactoryContext<T>, Task<Either<Err, T>>>? _withContext;

    public Factory(Func<Task<Either<Err, T>>> plain) => _plain = plain;

    public Factory(Func<FactoryContext<T>, Task<Either<Err, T>>> withContext) => _withContext = withContext;

    /// <summary>Calls the factory; <paramref name="fallback"/> becomes the context's stale value when it is a <typeparamref name="T"/>.</summary>
    public Task<Either<Err, T>> Invoke(string key, FSharpValueOption<Entry> fallback, CancellationToken token, out FactoryContext<T>? context)
    {
        context = null;
        if (_plain is not null) return _plain();
        var stale = fallback.IsSome && Cast.Try<T>(fallback.Value.Value, out var v) ? Option<T>.Some(v) : Option<T>.None;
        context = new FactoryContext<T>(key, stale, fallback.IsSome ? fallback.Value.Validator : ValidatorModule.none, token);
        return _withContext!(context);
    }

    /// <summary>The options the produced entry is written with: the caller's, with what the factory set on its context
    /// laid over them (adaptive caching).</summary>
    public static EntryOptions Produced(EntryOptions callers, FactoryContext<T>? context) =>
        context?.EntryOptions is { } adapted ? adapted.Resolve(callers) : callers;
}
