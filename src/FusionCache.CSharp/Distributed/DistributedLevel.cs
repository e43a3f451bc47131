using Fusion.Core;
using Fusion.Runtime;
using Microsoft.Extensions.Logging;
using Microsoft.FSharp.Core;
using StackExchange.Redis;

namespace Fusion.Distributed;

/// <summary>
/// The distributed level as the runtime uses it: L2 reads that never fail (an error is a miss), writes
/// and notifications that never fail (what cannot be done is queued for recovery), a circuit breaker,
/// and the reconnect work (revalidate L1, replay the queue, re-subscribe). See Distributed/README.md.
/// </summary>
internal sealed class DistributedLevel : IDisposable
{
    private readonly RedisConnection _connection = new();
    private readonly bool _ownsConnection;
    private readonly RedisLevel _redis;
    private readonly Backplane _backplane;
    private readonly RecoveryQueue _queue;
    private readonly IFusionSerializer _serializer;
    private readonly MemoryLevel _memory;
    private readonly Clock _clock;
    private readonly ILogger _logger;
    private readonly DistributedSettings _settings;
    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _replaySignal = new(0);
    private long _breakerOpenUntil = long.MinValue;
    private long _disconnectedAt; // 0 while connected

    /// <summary>Debug counters the tests read.</summary>
    public long UnreadablePayloads, FailedOperations, Replayed;

    public DistributedLevel(Task<IConnectionMultiplexer> connecting, bool ownsConnection, DistributedSettings settings,
        Guid instanceId, MemoryLevel memory, FlightTable flights, Clock clock, ILogger logger)
    {
        _ownsConnection = ownsConnection;
        _settings = settings;
        _serializer = settings.Serializer;
        _memory = memory;
        _clock = clock;
        _logger = logger;
        _redis = new RedisLevel(_connection, settings.CacheName);
        _backplane = new Backplane(_connection, settings.CacheName, instanceId, memory, clock, logger);
        _queue = new RecoveryQueue(settings.RecoveryCapacity);
        _disconnectedAt = clock.Now; // until the connection is there
        _ = Attach(connecting);
        _ = ReplayLoop();
    }

    /// <summary>Takes the connection when it arrives; the cache works on L1 meanwhile.</summary>
    private async Task Attach(Task<IConnectionMultiplexer> connecting)
    {
        IConnectionMultiplexer connection;
        try
        {
            connection = await connecting.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            _logger.LogError("Fusion: could not set up the Redis connection; the cache works on L1 only: {Error}", Short(ex));
            return;
        }
        if (_stopping.IsCancellationRequested)
        {
            if (_ownsConnection) connection.Dispose(); // disposed while connecting
            return;
        }
        connection.ConnectionFailed += OnConnectionFailed;
        connection.ConnectionRestored += OnConnectionRestored;
        _connection.Set(connection);
        if (connection.IsConnected) OnConnectionRestored(connection, null!);
        else _ = _backplane.EnsureSubscribed();
    }

    public Backplane Backplane => _backplane;
    public bool IsConnected => _redis.IsConnected;

    /// <summary>Connected and subscribed to the backplane: the node now hears every other node's writes. Before
    /// that a node works (on L1, queuing what it cannot send) but may miss notifications; tests and
    /// readiness checks wait on this, not on the connection alone.</summary>
    public bool IsReady => _redis.IsConnected && _backplane.IsSubscribed;

    /// <summary>Whether L2 is worth asking now: connected, and the breaker closed. While it is not, reads are
    /// misses and writes are queued at once, so an outage costs callers no waiting.</summary>
    private bool Available => _redis.IsConnected && !CircuitBreaker.isOpen(_clock.Now, Volatile.Read(ref _breakerOpenUntil));
    public int PendingRecoveries => _queue.Count;

    /// <summary>Reads the key's L2 entry as a <typeparamref name="T"/>; a miss, an error, a timeout or an
    /// unreadable payload are all <c>ValueNone</c> (logged).</summary>
    public async Task<FSharpValueOption<Entry>> Read<T>(string key, TimeSpan softTimeout, TimeSpan hardTimeout)
    {
        if (!Available) return FSharpValueOption<Entry>.ValueNone;
        byte[]? bytes;
        try
        {
            bytes = await WithTimeouts(_redis.Get(key), softTimeout, hardTimeout).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Failed("read", key, ex);
            return FSharpValueOption<Entry>.ValueNone;
        }
        if (bytes is null) return FSharpValueOption<Entry>.ValueNone;
        if (!EnvelopeCodec.TryDecode(bytes, out var header, out var payload, out var error))
            return Unreadable(key, error!);
        _clock.Observe(header.Timestamp); // our next write comes after the one we read
        if (header.IsTombstone) return FSharpValueOption<Entry>.ValueNone; // removed
        try
        {
            object? value = _serializer.Deserialize<T>(payload);
            // A serializer that reads "null" back: the cache holds no null (Either cannot carry one).
            if (value is null) return Unreadable(key, $"the serializer read a null {typeof(T).Name}");
            return FSharpValueOption<Entry>.NewValueSome(header.ToEntry(value));
        }
        catch (Exception ex)
        {
            return Unreadable(key, $"not a {typeof(T).Name}: {ex.Message}");
        }
    }

    /// <summary>Applies an L2 change and sends a notification, waiting for each only when the options say so.
    /// Never throws: what fails is queued for recovery.</summary>
    public Task Write<T>(string key, L2Change change, FSharpValueOption<Remote> notify, EntryOptions options)
    {
        L2Write? write;
        try
        {
            write = L2Write.From(change, value => _serializer.Serialize((T)value));
        }
        catch (Exception ex)
        {
            _logger.LogWarning("Fusion: the value for key {Key} could not be serialized; L2 is not written: {Error}", key, ex.Message);
            write = null;
        }
        var notice = notify.IsSome ? notify.Value : null;
        var timeout = EntryOptionsModule.distributedWriteTimeout(options);
        var sent = write is null ? Task.FromResult(true) : Send(key, write, notice, timeout);
        // The notification goes after the L2 write, so a node that re-reads finds the new value.
        var notified = notice is null ? sent : NotifyAfter(sent, key, notice, timeout);
        if (options.AllowBackgroundDistributedCacheOperations) return Task.CompletedTask;
        return options.AllowBackgroundBackplaneOperations ? sent : notified;
    }

    /// <summary>Applies the write; false when it was queued for recovery instead (its notice with it).</summary>
    private async Task<bool> Send(string key, L2Write write, Remote? notice, TimeSpan timeout)
    {
        if (!Available) { Queue(key, write, notice); return false; }
        try
        {
            await Within(_redis.Apply(key, write, _clock.Now), timeout).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex)
        {
            Failed("write", key, ex);
            Queue(key, write, notice);
            return false;
        }
    }

    private async Task<bool> NotifyAfter(Task<bool> sent, string key, Remote notice, TimeSpan timeout)
    {
        if (!await sent.ConfigureAwait(false)) return false; // queued together with its write
        if (!Available) { Queue(key, null, notice); return false; }
        try
        {
            await Within(_backplane.Publish(key, notice), timeout).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex)
        {
            Failed("notification", key, ex);
            Queue(key, null, notice);
            return false;
        }
    }

    private void Queue(string key, L2Write? write, Remote? notice)
    {
        var dropped = _queue.Enqueue(key, write, notice);
        if (dropped is not null)
            _logger.LogWarning("Fusion: the recovery queue is full ({Capacity}); dropped the oldest operation, for key {Key}", _settings.RecoveryCapacity, dropped.Key);
        _replaySignal.Release();
    }

    /// <summary>Replays the queue whenever Redis is reachable: on reconnect, and every recovery delay.</summary>
    private async Task ReplayLoop()
    {
        var token = _stopping.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                await _replaySignal.WaitAsync(_settings.RecoveryDelay, token).ConfigureAwait(false);
                if (_redis.IsConnected) await ReplayOnce().ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested) { return; }
            catch (Exception ex)
            {
                _logger.LogError(ex, "Fusion: the recovery loop failed unexpectedly; it goes on");
            }
        }
    }

    /// <summary>One pass over the queue, oldest first; stops at the first failure (Redis is still away).</summary>
    internal async Task ReplayOnce()
    {
        foreach (var pending in _queue.Snapshot())
        {
            try
            {
                if (pending.Write is not null) await _redis.Apply(pending.Key, pending.Write, _clock.Now).ConfigureAwait(false);
                if (pending.Notice is not null) await _backplane.Publish(pending.Key, pending.Notice).ConfigureAwait(false);
                _queue.Done(pending);
                Interlocked.Increment(ref Replayed);
            }
            catch (Exception ex) when (IsTransient(ex))
            {
                _logger.LogDebug("Fusion: recovery replay paused, Redis is still unavailable: {Error}", ex.Message);
                return;
            }
        }
    }

    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e)
    {
        if (Interlocked.CompareExchange(ref _disconnectedAt, _clock.Now, 0) == 0)
            _logger.LogWarning("Fusion: lost the connection to Redis ({Failure}); serving from L1 until it is back", e.FailureType);
    }

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        var disconnectedAt = Interlocked.Exchange(ref _disconnectedAt, 0);
        if (disconnectedAt != 0)
        {
            // Notifications may have been missed while away, and a write made while away may be refused
            // on replay by a newer one: every copy held now is revalidated against L2 on its next read.
            var now = _clock.Now;
            _memory.UpdateAll(entry => Lifecycle.revalidate(now, Ticks.Never, entry));
            _logger.LogInformation("Fusion: connected to Redis; replaying {Count} queued operations", _queue.Count);
        }
        _ = _backplane.EnsureSubscribed();
        _replaySignal.Release();
    }

    private void Failed(string what, string key, Exception ex)
    {
        Interlocked.Increment(ref FailedOperations);
        Volatile.Write(ref _breakerOpenUntil, CircuitBreaker.openUntil(_clock.Now, _settings.CircuitBreakerDuration, long.MinValue));
        // Expected while Redis is away: one short line, no stack trace.
        _logger.LogWarning("Fusion: Redis {What} for key {Key} failed: {Error}", what, key, Short(ex));
    }

    private FSharpValueOption<Entry> Unreadable(string key, string reason)
    {
        Interlocked.Increment(ref UnreadablePayloads);
        _logger.LogWarning("Fusion: the L2 payload for key {Key} is unreadable ({Reason}); treated as a miss", key, reason);
        return FSharpValueOption<Entry>.ValueNone;
    }

    private Task<TResult> WithTimeouts<TResult>(Task<TResult> operation, TimeSpan soft, TimeSpan hard)
    {
        var (limit, _) = Ticks.firstTimeout(soft, hard);
        return limit == Timeout.InfiniteTimeSpan ? operation : operation.WaitAsync(limit, _clock.Time);
    }

    private Task Within(Task operation, TimeSpan timeout) =>
        timeout == Timeout.InfiniteTimeSpan ? operation : operation.WaitAsync(timeout, _clock.Time);

    /// <summary>The first sentence of an exception's message: StackExchange.Redis appends pages of diagnostics.</summary>
    internal static string Short(Exception ex)
    {
        var message = ex.Message;
        var cut = message.IndexOf(" - ", StringComparison.Ordinal);
        if (cut > 0) message = message[..cut];
        return ex.GetType().Name + ": " + (message.Length > 200 ? message[..200] + "…" : message);
    }

    private static bool IsTransient(Exception ex) => ex is RedisException or TimeoutException or ObjectDisposedException;

    public void Dispose()
    {
        _stopping.Cancel();
        _backplane.Unsubscribe();
        if (_connection.Multiplexer is { } connection)
        {
            connection.ConnectionFailed -= OnConnectionFailed;
            connection.ConnectionRestored -= OnConnectionRestored;
            if (_ownsConnection) connection.Dispose();
        }
    }
}
