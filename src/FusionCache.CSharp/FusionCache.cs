using System.Runtime.CompilerServices;
using Fusion.Core;
using Fusion.Runtime;
using LanguageExt;
using Microsoft.Extensions.Logging;
using Microsoft.FSharp.Core;

namespace Fusion;

/// <summary>
/// A hybrid cache: a bounded in-memory level with single flight, fail-safe and factory timeouts.
/// Build it with <see cref="FusionCacheBuilder"/>. Every method is thread-safe. Run-time failures come
/// back as <c>Left(Err)</c>; only programmer errors (a null or empty key, a null factory) throw.
/// </summary>
/// <remarks><c>Either</c> cannot hold null: cache <c>Option&lt;T&gt;</c> to cache absence.</remarks>
public sealed class FusionCache : IDisposable
{
    private readonly MemoryLevel _memory;
    private readonly FlightTable _flights = new();
    private readonly FlightLeader _leader;
    private readonly Clock _clock;
    private readonly EntryOptions _defaults;
    private readonly ILogger _logger;
    private volatile bool _disposed;

    internal FusionCache(int capacity, EntryOptions defaults, TimeProvider time, ILogger logger)
    {
        _memory = new MemoryLevel(capacity);
        _clock = new Clock(time);
        _defaults = defaults;
        _logger = logger;
        _leader = new FlightLeader(_memory, _flights, _clock, logger);
    }

    /// <summary>The cache-wide default entry options.</summary>
    public EntryOptions DefaultEntryOptions => _defaults;

    /// <summary>The L1 capacity in entries.</summary>
    public int Capacity => _memory.Capacity;

    internal MemoryLevel Memory => _memory;
    internal int InFlightCount => _flights.Count;

    /// <summary>
    /// Returns the key's value, running <paramref name="factory"/> (once per key at a time, shared by
    /// every concurrent caller) when there is no fresh value. Fail-safe and timeouts per the options.
    /// </summary>
    /// <param name="key">The key; not null or empty.</param>
    /// <param name="factory">Produces the value, or <c>Left(Err)</c> when the source fails.</param>
    /// <param name="options">Overrides of the cache-wide defaults for this call; null for none.</param>
    /// <param name="cancellationToken">Cancels this caller's wait only (<see cref="Err.Cancelled"/>).</param>
    public ValueTask<Either<Err, T>> GetOrSet<T>(
        string key, Func<Task<Either<Err, T>>> factory, FusionCacheEntryOptions? options = null, CancellationToken cancellationToken = default)
    {
        if (factory is null) Throw.NullArgument(nameof(factory));
        if (TryHit<T>(key, options, out var hit, out var refreshDue) && !refreshDue) return new(hit);
        return Miss(key, WithContext(factory), Option<T>.None, options, cancellationToken, hit, refreshDue);
    }

    /// <summary>As <see cref="GetOrSet{T}(string, Func{Task{Either{Err, T}}}, FusionCacheEntryOptions?, CancellationToken)"/>,
    /// with a factory that receives the key, the stale value and its cancellation token.</summary>
    public ValueTask<Either<Err, T>> GetOrSet<T>(
        string key, Func<FactoryContext<T>, Task<Either<Err, T>>> factory, FusionCacheEntryOptions? options = null, CancellationToken cancellationToken = default)
    {
        if (factory is null) Throw.NullArgument(nameof(factory));
        if (TryHit<T>(key, options, out var hit, out var refreshDue) && !refreshDue) return new(hit);
        return Miss(key, factory, Option<T>.None, options, cancellationToken, hit, refreshDue);
    }

    /// <summary>As the context overload, with a value fail-safe serves when the factory fails and no stale
    /// value exists (only when fail-safe is on).</summary>
    public ValueTask<Either<Err, T>> GetOrSet<T>(
        string key, Func<FactoryContext<T>, Task<Either<Err, T>>> factory, Option<T> failSafeDefaultValue,
        FusionCacheEntryOptions? options = null, CancellationToken cancellationToken = default)
    {
        if (factory is null) Throw.NullArgument(nameof(factory));
        if (TryHit<T>(key, options, out var hit, out var refreshDue) && !refreshDue) return new(hit);
        return Miss(key, factory, failSafeDefaultValue, options, cancellationToken, hit, refreshDue);
    }

    /// <summary>Writes a fresh value under the key.</summary>
    public ValueTask Set<T>(string key, T value, FusionCacheEntryOptions? options = null, CancellationToken cancellationToken = default)
    {
        CheckKey(key);
        if (value is null) Throw.NullArgument(nameof(value));
        var o = Resolve(options);
        var now = _clock.Now;
        _memory.PutIfSupersedes(key, Lifecycle.written(o, now, _clock.Jitter(o), now, _clock.NextSequence(), value));
        return ValueTask.CompletedTask;
    }

    /// <summary>The key's value if it is fresh (or stale, with <see cref="FusionCacheEntryOptions.AllowStaleOnReadOnly"/>)
    /// and of type <typeparamref name="T"/>; never runs a factory.</summary>
    public ValueTask<Option<T>> TryGet<T>(string key, FusionCacheEntryOptions? options = null, CancellationToken cancellationToken = default)
    {
        CheckKey(key);
        if (!_memory.TryGet(key, out var entry)) return new(Option<T>.None);
        // A value served by fail-safe counts as stale here too: only AllowStaleOnReadOnly returns it.
        var state = EntryModule.classifyFor(false, _clock.Now, entry);
        if (state.IsDead) { _memory.RemoveIfSame(key, entry); return new(Option<T>.None); }
        if (state.IsStale && !Resolve(options).AllowStaleOnReadOnly) return new(Option<T>.None);
        return new(entry.Value is T v ? Option<T>.Some(v) : Option<T>.None);
    }

    /// <summary>Deletes the key; it is no longer a fail-safe fallback either.</summary>
    public ValueTask Remove(string key, CancellationToken cancellationToken = default)
    {
        CheckKey(key);
        _memory.Remove(key);
        return ValueTask.CompletedTask;
    }

    /// <summary>Makes the key's entry stale: the next read runs the factory, and the old value stays
    /// a fail-safe fallback until its physical expiry.</summary>
    public ValueTask Expire(string key, CancellationToken cancellationToken = default)
    {
        CheckKey(key);
        var now = _clock.Now;
        _memory.Update(key, current => Lifecycle.expire(now, current));
        return ValueTask.CompletedTask;
    }

    /// <summary>Stops accepting calls. Flights already running finish on their own.</summary>
    public void Dispose() => _disposed = true;

    // The hit path: a lookup, a pure classification and a typed read; no allocation.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryHit<T>(string key, FusionCacheEntryOptions? options, out Either<Err, T> result, out bool refreshDue)
    {
        CheckKey(key);
        if (_memory.TryGet(key, out var entry))
        {
            var state = EntryModule.classifyFor(Resolve(options).IsFailSafeEnabled, _clock.Now, entry);
            if (state.IsFresh || state.IsRefreshDue)
            {
                if (entry.Value is T v)
                {
                    result = Either<Err, T>.Right(v);
                    refreshDue = state.IsRefreshDue;
                }
                else
                {
                    // Another type lives here: an error, and no refresh that would overwrite it.
                    result = Either<Err, T>.Left(Replies.WrongType<T>(key, entry.Value));
                    refreshDue = false;
                }
                return true;
            }
        }
        result = default;
        refreshDue = false;
        return false;
    }

    private ValueTask<Either<Err, T>> Miss<T>(
        string key, Func<FactoryContext<T>, Task<Either<Err, T>>> factory, Option<T> fallbackDefault,
        FusionCacheEntryOptions? options, CancellationToken cancellationToken, Either<Err, T> hit, bool refreshDue)
    {
        var o = Resolve(options);
        if (refreshDue)
        {
            if (_flights.TryStartBackground(key, out var refresh))
                _ = _leader.Run(key, refresh, factory, Boxed(fallbackDefault), o, refresh: true);
            return new(hit);
        }
        return Wait(key, factory, Boxed(fallbackDefault), o, cancellationToken);
    }

    private async ValueTask<Either<Err, T>> Wait<T>(
        string key, Func<FactoryContext<T>, Task<Either<Err, T>>> factory, FSharpValueOption<object> fallbackDefault,
        EntryOptions o, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested) return Replies.Cancelled<T>();
        var flight = _flights.Join(key, !o.AllowTimedOutFactoryBackgroundCompletion, out var isLeader);
        if (isLeader) _ = _leader.Run(key, flight, factory, fallbackDefault, o, refresh: false);
        try
        {
            var reply = await flight.Completion.WaitAsync(cancellationToken).ConfigureAwait(false);
            return Replies.ToEither<T>(key, reply);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            flight.Leave();
            return Replies.Cancelled<T>();
        }
    }

    // A method of its own: a lambda capturing `factory` in GetOrSet would allocate its closure on every hit.
    private static Func<FactoryContext<T>, Task<Either<Err, T>>> WithContext<T>(Func<Task<Either<Err, T>>> factory) => _ => factory();

    private EntryOptions Resolve(FusionCacheEntryOptions? options) => options is null ? _defaults : options.Resolve(_defaults);

    private static FSharpValueOption<object> Boxed<T>(Option<T> value) =>
        value.Match(Some: static v => FSharpValueOption<object>.NewValueSome(v!), None: static () => FSharpValueOption<object>.ValueNone);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void CheckKey(string key)
    {
        if (string.IsNullOrEmpty(key)) Throw.InvalidKey(key);
        if (_disposed) Throw.Disposed();
    }
}
