using System.Diagnostics;
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
internal sealed class DistributedLevel : IDistributedLevel
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
    private readonly SemaphoreSlim _replayGate = new(1, 1);
    private readonly LogThrottle _unreadableLog = new(TimeSpan.FromSeconds(10));
    private readonly CacheDiagnostics _diagnostics;
    private readonly LogThrottle _failedLog, _refusedLog;
    private readonly KeyValuePair<string, object?> _nameTag;
    // Invalidations Redis has not received yet, merged per tag ("" for Clear: a tag is never empty).
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Invalidation> _pendingMarks = new(StringComparer.Ordinal);
    // Tags whose mark this node has read from L2 since it last connected ("" for Clear).
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _learned = new(StringComparer.Ordinal);
    // The longest L2 lifetime this node has written: a mark must outlive every entry it may cover.
    private long _longestLifetime;
    private long _breakerOpenUntil = long.MinValue;
    private long _disconnectedAt; // 0 while connected

    /// <summary>Debug counters the tests read: unreadable L2 payloads, failed Redis operations, keys replayed,
    /// per-key replay failures (parked), operations dropped (queue bounds, too many failures, Dispose), writes
    /// L2's guard refused, values the serializer could not write.</summary>
    public long UnreadablePayloads, FailedOperations, Replayed, ParkedOperations, DroppedOperations, RefusedWrites, Unserializable;

    public DistributedLevel(Task<IConnectionMultiplexer> connecting, bool ownsConnection, DistributedSettings settings,
        Guid instanceId, MemoryLevel memory, FlightTable flights, Clock clock, CacheDiagnostics diagnostics)
    {
        _ownsConnection = ownsConnection;
        _settings = settings;
        _serializer = settings.Serializer;
        _memory = memory;
        _clock = clock;
        _diagnostics = diagnostics;
        _logger = diagnostics.Logger;
        _nameTag = diagnostics.NameTag;
        _failedLog = new LogThrottle(diagnostics.Levels.AggregationWindow);
        _refusedLog = new LogThrottle(diagnostics.Levels.AggregationWindow);
        _redis = new RedisLevel(_connection, settings.CacheName, settings.MaxClockSkew);
        _backplane = new Backplane(_connection, settings.CacheName, instanceId, memory, clock, settings.MaxClockSkew, diagnostics);
        _queue = new RecoveryQueue(settings.RecoveryCapacity, settings.RecoveryMaxBytes);
        memory.Invalidations.Forgotten += tag => _learned.TryRemove(tag, out _);
        _disconnectedAt = clock.Now; // until the connection is there
        DistributedTelemetry.Register(this, diagnostics.Name);
        // The background work belongs to no caller: its spans must not become children of whatever activity is current
        // where the cache is built (a request that built it would otherwise parent every replay for the process's life).
        var ambient = Activity.Current;
        Activity.Current = null;
        try
        {
            _ = Attach(connecting);
            _ = ReplayLoop();
        }
        finally
        {
            Activity.Current = ambient;
        }
    }

    /// <summary>The cache's name (telemetry).</summary>
    public string Name => _diagnostics.Name;

    /// <summary>Whether the circuit breaker is open now: L2 is skipped (reads miss, writes queue) until it closes.</summary>
    public bool BreakerOpen => CircuitBreaker.isOpen(_clock.Now, Volatile.Read(ref _breakerOpenUntil));

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
            Log.ConnectionSetupFailed(_logger, Short(ex));
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
        else
        {
            // The first attempt failed before these handlers were attached (its event is gone): say so now, with
            // the reason the multiplexer kept (no secrets: the configuration is not logged).
            Log.NotConnectedYet(_logger, FirstFailure(connection));
            _ = _backplane.EnsureSubscribed();
        }
    }

    public Backplane Backplane => _backplane;
    public bool IsConnected => _redis.IsConnected;

    /// <summary>Connected and subscribed to the backplane: the node now hears every other node's writes. Before
    /// that a node works (on L1, queuing what it cannot send) but may miss notifications; tests and
    /// readiness checks wait on this, not on the connection alone.</summary>
    public bool IsReady => _redis.IsConnected && _backplane.IsSubscribed && Volatile.Read(ref _disconnectedAt) == 0 && Volatile.Read(ref _revalidating) == 0;

    // 1 from a reconnect until L1 has been revalidated (after the subscription is live again).
    private int _revalidating;

    /// <summary>Whether L2 is worth asking now: connected, and the breaker closed. While it is not, reads are
    /// misses and writes are queued at once, so an outage costs callers no waiting.</summary>
    private bool Available => _redis.IsConnected && !CircuitBreaker.isOpen(_clock.Now, Volatile.Read(ref _breakerOpenUntil));

    /// <summary>Whether the circuit breaker is open now (L2 skipped after a connection-level error): health checks.</summary>
    public bool IsBreakerOpen => CircuitBreaker.isOpen(_clock.Now, Volatile.Read(ref _breakerOpenUntil));
    /// <summary>Keys with operations still owed to Redis: queued, or being replayed now.</summary>
    public int PendingRecoveries => _queue.Count + _pendingMarks.Count;

    /// <summary>Reads the key's L2 entry as a <typeparamref name="T"/>; a miss, an error, a timeout or an
    /// unreadable payload are all <c>ValueNone</c> (logged).</summary>
    public async Task<FSharpValueOption<Entry>> Read<T>(string key, TimeSpan softTimeout, TimeSpan hardTimeout)
    {
        if (!Available || _settings.BackplaneOnly) return FSharpValueOption<Entry>.ValueNone;
        // This node owes Redis a write of the key (queued while Redis was away, or being replayed): L2 holds an older
        // state than this node's own last write, so what is there must not be read back (a Remove queued here would
        // otherwise see its removed value return into L1, and stay there: a node ignores its own notifications).
        if (_queue.Owes(key)) return FSharpValueOption<Entry>.ValueNone;
        using var span = DistributedTelemetry.Start(DistributedTelemetry.ReadSpan, Name, key);
        StackExchange.Redis.Lease<byte>? lease;
        try
        {
            lease = await WithTimeouts(_redis.Get(key), softTimeout, hardTimeout).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Failed("read", key, ex, span);
            return ReadAs("error", span);
        }
        if (lease is null) return ReadAs("miss", span);
        Entry entry;
        using (lease) // the envelope is decoded where Redis' answer was read into; the buffer goes back to the pool after
        {
            var read = TryRead<T>(key, lease.Memory, span, out entry);
            if (read == Decoded.Removed) return ReadAs("miss", span);
            if (read == Decoded.Unreadable) return FSharpValueOption<Entry>.ValueNone; // counted and logged
        }
        await LearnOnce(entry.Tags).ConfigureAwait(false); // a tag first met here: its invalidation, if any, from L2
        ReadAs("hit", span);
        // Seen through this node's invalidations: an entry a RemoveByTag or a Clear covers is absent, or stale.
        return _memory.Invalidations.View(FSharpValueOption<Entry>.NewValueSome(entry));
    }

    private enum Decoded { Entry, Removed, Unreadable }

    /// <summary>Decodes an envelope read from L2 into an entry: a tombstone is <c>Removed</c>, an unreadable envelope or
    /// payload <c>Unreadable</c> (counted and logged already, <see cref="Unreadable"/>).
    /// The payload is deserialized from <paramref name="bytes"/> as it is (decompressed first, into a pooled buffer,
    /// when flag bit 3 says it is LZ4).</summary>
    private Decoded TryRead<T>(string key, ReadOnlyMemory<byte> bytes, Activity? span, out Entry entry)
    {
        entry = null!;
        // The decoder refuses what the write guard ignores (a stamp beyond the skew bound included), so an
        // unreadable entry is a miss that the next write replaces.
        if (!EnvelopeCodec.TryDecode(bytes.Span, _redis.LatestPlausible(_clock.Now), out var header, out var payloadSpan, out var error))
            return NotRead(key, error!, span);
        _clock.Observe(header.Timestamp); // our next write comes after the one we read
        if (header.IsTombstone) return Decoded.Removed;
        var payload = bytes[(bytes.Length - payloadSpan.Length)..];
        byte[]? decompressed = null;
        try
        {
            if (header.UncompressedLength > 0)
            {
                if (!EnvelopeCodec.TryDecompress(payload.Span, header.UncompressedLength, out decompressed, out error)) return NotRead(key, error!, span);
                payload = decompressed.AsMemory(0, header.UncompressedLength);
            }
            object? value = _serializer.Deserialize<T>(new System.Buffers.ReadOnlySequence<byte>(payload));
            // A serializer that reads "null" back: the cache holds no null (Either cannot carry one).
            if (value is null) return NotRead(key, $"the serializer read a null {Replies.TypeName(typeof(T))}", span);
            entry = header.ToEntry(value);
            return Decoded.Entry;
        }
        catch (Exception ex)
        {
            return NotRead(key, $"not a {Replies.TypeName(typeof(T))}: {ex.Message}", span);
        }
        finally
        {
            if (decompressed is not null) System.Buffers.ArrayPool<byte>.Shared.Return(decompressed);
        }
    }

    private Decoded NotRead(string key, string reason, Activity? span)
    {
        Unreadable(key, reason, span);
        return Decoded.Unreadable;
    }

    /// <summary>Counts an L2 read by its result and tags its span; returns "nothing" for the misses to return.</summary>
    private FSharpValueOption<Entry> ReadAs(string result, Activity? span)
    {
        if (DistributedTelemetry.Reads.Enabled) DistributedTelemetry.Reads.Add(1, _nameTag, new(DistributedTelemetry.ResultTag, result));
        span?.SetTag(DistributedTelemetry.ResultTag, result);
        return FSharpValueOption<Entry>.ValueNone;
    }

    /// <summary>Applies an L2 change and sends a notification, waiting for each only when the options say so.
    /// Never throws: what fails is queued for recovery.</summary>
    public Task Write<T>(string key, L2Change change, FSharpValueOption<Remote> notify, EntryOptions options)
    {
        L2Write? write;
        try
        {
            // A backplane without L2 stores nothing: only the notification goes out.
            write = _settings.BackplaneOnly ? null : L2Write.From<T>(change, _serializer, _settings.CompressionThreshold);
        }
        catch (Exception ex)
        {
            // Not in L2, so not announced either: the other nodes would drop their copy and re-read L2's older
            // value as if it were the newest (SEMANTICS §4). The value stays in this node's L1 only.
            Interlocked.Increment(ref Unserializable);
            Log.ValueUnserializable(_logger, LogText.Of(key), LogText.Of(ex.Message));
            return Task.CompletedTask;
        }
        if (write is { What: L2Write.Kind.Put }) AtomicMax.Raise(ref _longestLifetime, InvalidationLife.lifetime(write.Timestamp, write.PhysicalExpiry));
        var notice = notify.IsSome ? notify.Value : null;
        var timeout = EntryOptionsModule.distributedWriteTimeout(options);
        var sent = write is null ? Task.FromResult(Sent.Written) : Send(key, write, notice, timeout);
        // The notification goes after the L2 write, so a node that re-reads finds the new value.
        var notified = notice is null ? (Task)sent : NotifyAfter(sent, key, notice, timeout);
        if (options.AllowBackgroundDistributedCacheOperations) return Task.CompletedTask;
        return options.AllowBackgroundBackplaneOperations ? sent : notified;
    }

    /// <summary>An invalidation (<c>RemoveByTag</c>; <c>Clear</c> when <paramref name="tag"/> is null) for L2 and the other
    /// nodes: merged into L2's mark (so a node that was away, or reads the entry later, learns it), then announced.
    /// Never throws: what fails is kept and replayed like the recovery queue.</summary>
    public Task Invalidate(string? tag, Invalidation mark, EntryOptions options)
    {
        var sent = InvalidateNow(tag, mark, EntryOptionsModule.distributedWriteTimeout(options));
        return options.AllowBackgroundDistributedCacheOperations ? Task.CompletedTask : sent;
    }

    private async Task InvalidateNow(string? tag, Invalidation mark, TimeSpan timeout)
    {
        if (!Available) { QueueMark(tag, mark); return; }
        using var span = _settings.BackplaneOnly ? null : DistributedTelemetry.Start(DistributedTelemetry.WriteSpan, Name, null);
        span?.SetTag(DistributedTelemetry.OperationTag, "invalidate");
        if (tag is not null) span?.SetTag(Telemetry.TagTag, tag);
        try
        {
            if (!_settings.BackplaneOnly)
            {
                await Within(_redis.MergeMark(tag, mark, MarkLifetime), timeout).ConfigureAwait(false);
                Wrote("invalidate", "written", span);
            }
            await Within(_backplane.PublishMark(tag, mark), timeout).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Failed("invalidation", tag ?? "(clear)", ex, span);
            span?.SetTag(DistributedTelemetry.ResultTag, "queued");
            QueueMark(tag, mark); // merging again is harmless: the script keeps the later marks
        }
    }

    /// <summary>Counts an L2 change Redis applied (or refused as older) and tags its span.</summary>
    private void Wrote(string operation, string result, Activity? span)
    {
        if (DistributedTelemetry.Writes.Enabled)
            DistributedTelemetry.Writes.Add(1, _nameTag, new(DistributedTelemetry.OperationTag, operation), new(DistributedTelemetry.ResultTag, result));
        span?.SetTag(DistributedTelemetry.ResultTag, result);
    }

    private static string OperationOf(L2Write write) => write.What switch
    {
        L2Write.Kind.Put => "set",
        L2Write.Kind.Remove => "remove",
        _ => "expire",
    };

    /// <summary>How long an invalidation mark stays in L2: as long as any entry written here may live (at least an hour).</summary>
    private TimeSpan MarkLifetime => TimeSpan.FromTicks(InvalidationLife.markLifetime(Volatile.Read(ref _longestLifetime)));

    private void QueueMark(string? tag, Invalidation mark)
    {
        _pendingMarks.AddOrUpdate(tag ?? "", static (_, m) => m, static (_, current, m) => InvalidationModule.merge(current, m), mark);
        _replaySignal.Release();
    }

    /// <summary>Sends the invalidations still owed; false when Redis is away again.</summary>
    private async Task<bool> ReplayMarks()
    {
        foreach (var tag in _pendingMarks.Keys)
        {
            if (!_pendingMarks.TryRemove(tag, out var mark)) continue;
            try
            {
                if (!_settings.BackplaneOnly)
                {
                    await Within(_redis.MergeMark(tag.Length == 0 ? null : tag, mark, MarkLifetime), ReplayTimeout).ConfigureAwait(false);
                    Wrote("invalidate", "written", null);
                }
                await Within(_backplane.PublishMark(tag.Length == 0 ? null : tag, mark), ReplayTimeout).ConfigureAwait(false);
                Interlocked.Increment(ref Replayed);
            }
            catch (Exception ex) when (IsConnectionLevel(ex))
            {
                CountError("replay", ex);
                QueueMark(tag.Length == 0 ? null : tag, mark);
                return false;
            }
            catch (Exception ex)
            {
                CountError("replay", ex);
                Interlocked.Increment(ref DroppedOperations);
                Log.InvalidationDropped(_logger, _diagnostics.Levels.DistributedRefusal, LogText.Of(tag.Length == 0 ? "(clear)" : tag), Short(ex));
            }
        }
        return true;
    }

    /// <summary>Reads from L2 the marks of <paramref name="tags"/> this node has not read since it connected (and of Clear),
    /// and merges them: an entry read from L2 is then seen through every invalidation made while this node was away or
    /// before it started. A failure leaves them unlearned (tried again on the next read).</summary>
    private Task LearnOnce(string[] tags)
    {
        if (_settings.BackplaneOnly) return Task.CompletedTask;
        List<string?>? unknown = null;
        if (!_learned.ContainsKey("")) (unknown ??= []).Add(null);
        foreach (var tag in tags)
            if (!_learned.ContainsKey(tag)) (unknown ??= []).Add(tag);
        return unknown is null ? Task.CompletedTask : Learn(unknown);
    }

    private async Task Learn(List<string?> tags)
    {
        try
        {
            var marks = await Within(_redis.Marks(tags), ReplayTimeout).ConfigureAwait(false);
            var latest = _redis.LatestPlausible(_clock.Now);
            for (var i = 0; i < tags.Count; i++)
            {
                if (marks[i] is { } bytes && MarkCodec.TryDecode(bytes, latest, out var mark))
                {
                    _clock.Observe(Math.Max(mark.RemovedAt, mark.StaledAt));
                    _memory.Invalidations.Merge(tags[i], mark);
                }
                _learned.TryAdd(tags[i] ?? "", 0);
            }
        }
        catch (Exception ex)
        {
            // Unlearned marks are tried again on the next read; a refusal (an ACL without the mark keys) is worth a warning.
            if (IsConnectionLevel(ex)) Log.MarksNotReadYet(_logger, Short(ex));
            else Log.MarksRefused(_logger, Short(ex));
        }
    }

    /// <summary>After a reconnect: the marks of Clear, of every tag this node has heard of, and of every tag its L1 entries
    /// carry, read again (invalidations made while it was away).</summary>
    private Task LearnAfterReconnect()
    {
        if (_settings.BackplaneOnly) return Task.CompletedTask;
        var tags = new HashSet<string>(StringComparer.Ordinal);
        foreach (var key in _memory.Keys)
        {
            var entry = _memory.Get(key);
            if (entry.IsSome) foreach (var tag in entry.Value.Tags) tags.Add(tag);
        }
        foreach (var tag in _learned.Keys) if (tag.Length > 0) tags.Add(tag);
        _learned.Clear();
        var all = new List<string?> { null };
        all.AddRange(tags);
        return Learn(all);
    }

    private enum Sent { Written, Queued, Refused }

    /// <summary>Applies the write: written, queued for recovery (its notice with it), or refused by L2's guard.</summary>
    private async Task<Sent> Send(string key, L2Write write, Remote? notice, TimeSpan timeout)
    {
        // Behind what the key already owes Redis, never before it: the replay sends the merge in order.
        if (!Available || _queue.Owes(key))
        {
            Queue(key, write.Kept(), notice);
            write.Release(); // never sent
            return Sent.Queued;
        }
        using var span = DistributedTelemetry.Start(DistributedTelemetry.WriteSpan, Name, key);
        span?.SetTag(DistributedTelemetry.OperationTag, OperationOf(write));
        try
        {
            var refusedBy = await Within<(long Timestamp, long Origin)?>(_redis.Apply(key, write, _clock.Now), timeout).ConfigureAwait(false);
            // Redis answered: it has read the envelope, whose pooled buffer can serve the next one. (A send abandoned at its
            // timeout, or failed, keeps it: Redis may still be reading it. The queue gets a copy.)
            write.Release();
            if (refusedBy is not { } winner)
            {
                Wrote(OperationOf(write), "written", span);
                return Sent.Written;
            }
            Wrote(OperationOf(write), "refused", span);
            Refused(key, write, winner);
            return Sent.Refused;
        }
        catch (Exception ex)
        {
            Failed("write", key, ex, span);
            span?.SetTag(DistributedTelemetry.ResultTag, "queued");
            Queue(key, write.Kept(), notice);
            return Sent.Queued;
        }
    }

    /// <summary>L2's guard refused a write because it holds a later one (another node's, or a tie it wins): this
    /// node adopts that verdict as it would a notification of it, so its copy of the key, and a flight of the key
    /// older than that write, give way (SEMANTICS §4: a refused write is not kept by its writer either).</summary>
    private void Refused(string key, L2Write write, (long Timestamp, long Origin) winner)
    {
        Interlocked.Increment(ref RefusedWrites);
        Log.WriteSuperseded(_logger, write.What.ToString(), LogText.Of(key), write.Timestamp, winner.Timestamp, winner.Origin);
        var seen = Remote.NewSet(winner.Timestamp, winner.Origin);
        var now = _clock.Now;
        _memory.Write(key, current => Lifecycle.applyRemote(now, current, seen), Fusion.Core.Write.NewRemote(winner.Timestamp, winner.Origin));
    }

    private async Task NotifyAfter(Task<Sent> sent, string key, Remote notice, TimeSpan timeout)
    {
        if (await sent.ConfigureAwait(false) != Sent.Written) return; // queued with its write, or refused: nothing new to tell
        if (!Available || _queue.Owes(key)) { Queue(key, null, notice); return; }
        using var span = DistributedTelemetry.Start(DistributedTelemetry.PublishSpan, Name, key);
        span?.SetTag(DistributedTelemetry.MessageTag, DistributedTelemetry.KindOf(notice));
        try
        {
            await Within(_backplane.Publish(key, notice), timeout).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Failed("notification", key, ex, span);
            Queue(key, null, notice);
        }
    }

    private void Queue(string key, L2Write? write, Remote? notice)
    {
        var dropped = _queue.Enqueue(key, write, notice);
        if (dropped is not null) Dropped(dropped, $"the recovery queue is full ({_settings.RecoveryCapacity} keys, {_settings.RecoveryMaxBytes} bytes)");
        _replaySignal.Release();
    }

    private void Dropped(IReadOnlyCollection<string> keys, string why)
    {
        Interlocked.Add(ref DroppedOperations, keys.Count);
        if (_logger.IsEnabled(LogLevel.Warning))
            Log.QueuedOperationsDropped(_logger, why, keys.Count, string.Join(", ", keys.Take(5).Select(k => LogText.Of(k, 80))));
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
                if (Available) await ReplayOnce().ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested) { return; }
            catch (Exception ex)
            {
                Log.RecoveryLoopFailed(_logger, ex);
            }
        }
    }

    /// <summary>One pass over the queue, oldest key first. A connection-level error ends the pass (Redis is away
    /// again); a per-key error parks that key only (<c>Recovery.afterFailure</c>) and the pass goes on.</summary>
    internal async Task ReplayOnce()
    {
        await _replayGate.WaitAsync().ConfigureAwait(false); // one pass at a time (the loop, Dispose's drain)
        try
        {
            if (!_pendingMarks.IsEmpty && Available && !await ReplayMarks().ConfigureAwait(false)) return;
            foreach (var key in _queue.Keys())
            {
                if (!Available) return; // away again, or the breaker opened: the next signal or delay resumes
                if (!_queue.TryTake(key, _clock.Now, out var pending)) continue; // backing off, or taken meanwhile
                try
                {
                    if (!await ReplayKey(key, pending).ConfigureAwait(false)) return;
                }
                finally
                {
                    _queue.Replayed(key);
                }
            }
        }
        finally
        {
            _replayGate.Release();
        }
    }

    /// <summary>Sends what the key owes, in order (its write, its expire, then their notices); false when Redis is
    /// away. What was not sent goes back to the queue, merged with what arrived meanwhile.</summary>
    private async Task<bool> ReplayKey(string key, Pending<L2Write> pending)
    {
        using var span = DistributedTelemetry.Start(DistributedTelemetry.ReplaySpan, Name, key);
        try
        {
            if (pending.Replace.IsSome)
            {
                var write = pending.Replace.Value;
                if (await Within(_redis.Apply(key, write, _clock.Now), ReplayTimeout).ConfigureAwait(false) is { } winner)
                {
                    Wrote(OperationOf(write), "refused", null);
                    Refused(key, write, winner);
                }
                else Wrote(OperationOf(write), "written", null);
                pending = Recovery.sentReplace(pending);
            }
            if (pending.Expire.IsSome)
            {
                await Within(_redis.Apply(key, pending.Expire.Value, _clock.Now), ReplayTimeout).ConfigureAwait(false);
                Wrote("expire", "written", null);
                pending = Recovery.sentExpire(pending);
            }
            if (pending.ReplaceNotice.IsSome)
            {
                await Within(_backplane.Publish(key, pending.ReplaceNotice.Value), ReplayTimeout).ConfigureAwait(false);
                pending = Recovery.sentReplaceNotice(pending);
            }
            if (pending.ExpireNotice.IsSome)
            {
                await Within(_backplane.Publish(key, pending.ExpireNotice.Value), ReplayTimeout).ConfigureAwait(false);
                pending = Recovery.sentExpireNotice(pending);
            }
            Interlocked.Increment(ref Replayed);
            return true;
        }
        catch (Exception ex)
        {
            CountError("replay", ex);
            if (span is not null) Telemetry.Fail(span, DistributedTelemetry.TypeOf(ex), Short(ex));
            var error = IsConnectionLevel(ex) ? ReplayError.Connection : ReplayError.Key;
            var decision = Recovery.afterFailure(error, pending.Attempts, _clock.Now, _settings.RecoveryDelay);
            if (decision.IsPause)
            {
                Log.ReplayPaused(_logger, Short(ex));
                Requeue(key, pending);
                return false;
            }
            Interlocked.Increment(ref ParkedOperations);
            var level = _diagnostics.Levels.DistributedRefusal;
            if (decision.IsRetryAt)
            {
                var retryAt = decision.At;
                Log.KeyParked(_logger, level, LogText.Of(key), pending.Attempts + 1, Recovery.MaxAttempts, new DateTime(retryAt, DateTimeKind.Utc), Short(ex));
                Requeue(key, Recovery.failed(retryAt, pending));
            }
            else
            {
                Interlocked.Increment(ref DroppedOperations);
                Log.KeyDropped(_logger, level, LogText.Of(key), Recovery.MaxAttempts, Short(ex));
            }
            return true;
        }
    }

    private void Requeue(string key, Pending<L2Write> pending)
    {
        var dropped = _queue.Merge(key, pending);
        if (dropped is not null) Dropped(dropped, "the recovery queue is full");
    }

    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e)
    {
        var reason = e.Exception is null ? "" : Short(e.Exception);
        if (Interlocked.CompareExchange(ref _disconnectedAt, _clock.Now, 0) == 0)
            Log.ConnectionLost(_logger, e.FailureType.ToString(), reason);
        // Still not connected (never yet, or not again): every failed attempt is worth knowing (a wrong password, an
        // untrusted certificate), but not a line per retry.
        else if (_connectFailureLog.ShouldLog(_clock.Now, out var skipped))
            Log.ConnectAttemptFailed(_logger, e.FailureType.ToString(), skipped, reason);
    }

    private readonly LogThrottle _connectFailureLog = new(TimeSpan.FromSeconds(30));

    /// <summary>Why a multiplexer that came back from connecting is not connected, as far as it says (its status
    /// text names endpoints and states, never the password).</summary>
    private static string FirstFailure(IConnectionMultiplexer connection)
    {
        try
        {
            var status = connection.GetStatus();
            var line = status.Split('\n').FirstOrDefault(l => l.Contains("fail", StringComparison.OrdinalIgnoreCase) || l.Contains("error", StringComparison.OrdinalIgnoreCase));
            return LogText.Of(line?.Trim() ?? "no reason given yet", 300);
        }
        catch (Exception ex)
        {
            return Short(ex);
        }
    }

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        // Not ready from the disconnect until L1 is revalidated: the flag goes up before the disconnect mark goes.
        if (Volatile.Read(ref _disconnectedAt) != 0) Volatile.Write(ref _revalidating, 1);
        var disconnectedAt = Interlocked.Exchange(ref _disconnectedAt, 0);
        _ = Restored(disconnectedAt != 0, disconnectedAt);
    }

    /// <summary>After a reconnect: once the subscription is back (so no notification can be missed from then on),
    /// every copy written before the disconnect is checked against L2 (<see cref="Revalidate"/>): notifications may
    /// have been missed while away. Then the queue replays.</summary>
    private async Task Restored(bool wasDisconnected, long disconnectedAt)
    {
        try
        {
            await _backplane.EnsureSubscribed().ConfigureAwait(false);
            if (wasDisconnected)
            {
                // The multiplexer re-subscribes by itself, on its own schedule: a probe that comes back through the
                // channel shows the subscription is live again. Without it (timed out), revalidate anyway.
                var live = await _backplane.Probe(ProbeTimeout, _stopping.Token).ConfigureAwait(false);
                if (!live) Log.ProbeNotEchoed(_logger, ProbeTimeout);
                await LearnAfterReconnect().ConfigureAwait(false);
                var (checkedCopies, changed) = await Revalidate(disconnectedAt).ConfigureAwait(false);
                Volatile.Write(ref _revalidating, 0);
                Log.Reconnected(_logger, checkedCopies, changed, _queue.Count);
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested) { return; }
        catch (Exception ex)
        {
            Log.ReconnectWorkFailed(_logger, ex);
        }
        finally
        {
            // Only the restore that raised the flag lowers it: the multiplexer reports each of its connections
            // (interactive, subscription) coming back, and the second report must not cut the first one's work short.
            if (wasDisconnected) Volatile.Write(ref _revalidating, 0);
        }
        _replaySignal.Release();
    }

    /// <summary>Copies written before the disconnect may have missed a notification. Each is checked against the
    /// header of L2's entry (which write it holds, whether it was expired), a batch of keys per round trip, and
    /// only what changed is dropped or expired (<c>Lifecycle.reconcile</c>): the rest is served from L1 as before,
    /// with no L2 read. Copies written since (during the outage) are this node's newest and are left alone. If Redis
    /// fails meanwhile, the copies not checked yet are expired instead, so their next read revalidates.</summary>
    private async Task<(int Checked, int Changed)> Revalidate(long disconnectedAt)
    {
        if (_settings.BackplaneOnly)
        {
            // Nothing in Redis to check against: every copy written before the disconnect may have missed a notification.
            var now = _clock.Now;
            _memory.UpdateAll(entry => Lifecycle.revalidate(now, disconnectedAt, entry));
            return (0, 0);
        }
        var checkedCopies = 0;
        var changed = 0;
        var batch = new List<string>(RevalidationBatch);
        using var keys = _memory.Keys.GetEnumerator();
        while (true)
        {
            batch.Clear();
            while (batch.Count < RevalidationBatch && keys.MoveNext())
            {
                var copy = _memory.Get(keys.Current);
                if (copy.IsSome && copy.Value.Timestamp < disconnectedAt) batch.Add(keys.Current);
            }
            if (batch.Count == 0) return (checkedCopies, changed);
            byte[]?[] heads;
            try
            {
                heads = await Within(_redis.Heads(batch), ReplayTimeout).ConfigureAwait(false);
            }
            catch (Exception ex) when (IsConnectionLevel(ex))
            {
                var now = _clock.Now;
                _memory.UpdateAll(entry => Lifecycle.revalidate(now, disconnectedAt, entry));
                Log.RevalidationFailed(_logger, Short(ex));
                return (checkedCopies, changed);
            }
            var latest = _redis.LatestPlausible(_clock.Now);
            for (var i = 0; i < batch.Count; i++)
            {
                checkedCopies++;
                if (heads[i] is not { } head || !EnvelopeCodec.TryReadWrite(head, latest, out var ts, out var origin, out var logical)) continue;
                var now = _clock.Now;
                var copy = _memory.Get(batch[i]);
                if (Lifecycle.reconcile(now, copy, ts, origin, logical).IsKeep) continue;
                changed++;
                _memory.Write(batch[i], current => Lifecycle.reconcile(now, current, ts, origin, logical), Fusion.Core.Write.NewRemote(ts, origin));
            }
        }
    }

    /// <summary>Keys whose L2 headers are read in one round trip when revalidating after a reconnect.</summary>
    private const int RevalidationBatch = 512;

    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(5);

    /// <summary>How long one replayed operation may take before the pass treats Redis as away again (a paused
    /// Redis would otherwise hold the pass, and Dispose's drain, for the client's own timeout).</summary>
    private static readonly TimeSpan ReplayTimeout = TimeSpan.FromSeconds(2);

    private void Failed(string what, string key, Exception ex, Activity? span)
    {
        Interlocked.Increment(ref FailedOperations);
        CountError(what, ex);
        if (span is not null) Telemetry.Fail(span, DistributedTelemetry.TypeOf(ex), Short(ex));
        // Only Redis being away (or slow) opens the breaker: one key's server error must not turn L2 off for all.
        var connection = IsConnectionLevel(ex);
        var now = _clock.Now;
        if (connection) Volatile.Write(ref _breakerOpenUntil, CircuitBreaker.openUntil(now, _settings.CircuitBreakerDuration, long.MinValue));
        // Expected while Redis is away: one short line, no stack trace, repeats aggregated. A per-key error is the
        // operator's to fix.
        var levels = _diagnostics.Levels;
        var level = CacheDiagnostics.LevelNow(connection ? _failedLog : _refusedLog, connection ? levels.DistributedError : levels.DistributedRefusal, now, out var aggregated);
        if (level == LogLevel.None || !_logger.IsEnabled(level)) return;
        if (connection) Log.OperationFailed(_logger, level, what, LogText.Of(key), Short(ex), aggregated);
        else Log.OperationRefused(_logger, level, what, LogText.Of(key), Short(ex), aggregated);
    }

    /// <summary>Counts a failed Redis operation by what it was and the exception's type.</summary>
    private void CountError(string operation, Exception ex)
    {
        if (DistributedTelemetry.Errors.Enabled)
            DistributedTelemetry.Errors.Add(1, _nameTag, new(DistributedTelemetry.OperationTag, operation), new(Telemetry.ErrorTypeTag, DistributedTelemetry.TypeOf(ex)));
    }

    private FSharpValueOption<Entry> Unreadable(string key, string reason, Activity? span)
    {
        Interlocked.Increment(ref UnreadablePayloads);
        if (_unreadableLog.ShouldLog(_clock.Now, out var skipped))
            Log.PayloadUnreadable(_logger, LogText.Of(key), LogText.Of(reason), skipped);
        if (span is not null) Telemetry.Fail(span, "unreadable", reason);
        return ReadAs("unreadable", span);
    }

    private Task<TResult> WithTimeouts<TResult>(Task<TResult> operation, TimeSpan soft, TimeSpan hard)
    {
        var (limit, _) = Ticks.firstTimeout(soft, hard);
        return Within(operation, limit);
    }

    // A Redis operation given up at its timeout still ends later, perhaps faulted: that fault is observed here, so
    // nothing of Fusion's ever reaches TaskScheduler.UnobservedTaskException.
    private Task Within(Task operation, TimeSpan timeout) =>
        timeout == Timeout.InfiniteTimeSpan || operation.IsCompleted ? operation : Abandonable(operation).WaitAsync(timeout, _clock.Time);

    private Task<TResult> Within<TResult>(Task<TResult> operation, TimeSpan timeout) =>
        timeout == Timeout.InfiniteTimeSpan || operation.IsCompleted ? operation : Abandonable(operation).WaitAsync(timeout, _clock.Time);

    /// <summary>Marks <paramref name="operation"/>'s fault, if it ever faults, as observed, and returns it.</summary>
    internal static TTask Abandonable<TTask>(TTask operation) where TTask : Task
    {
        operation.ContinueWith(static t => _ = t.Exception, CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return operation;
    }

    /// <summary>The first sentence of an exception's message: StackExchange.Redis appends pages of diagnostics.</summary>
    internal static string Short(Exception ex)
    {
        var message = ex.Message;
        var cut = message.IndexOf(" - ", StringComparison.Ordinal);
        if (cut > 0) message = message[..cut];
        return ex.GetType().Name + ": " + (message.Length > 200 ? message[..200] + "…" : message);
    }

    /// <summary>Whether an error is Redis being away or slow (nothing can be done now), as opposed to a server error
    /// about one key (a wrong type at the key, a permission, a script error), which retrying now would repeat.</summary>
    internal static bool IsConnectionLevel(Exception ex) => ex switch
    {
        RedisServerException server => IsTransientServerError(server.Message),
        RedisException or TimeoutException or ObjectDisposedException or OperationCanceledException => true,
        _ => false,
    };

    // Server-wide states that pass: loading the dataset, a busy script, a replica or cluster in transition.
    private static bool IsTransientServerError(string message) =>
        message.StartsWith("LOADING", StringComparison.Ordinal) || message.StartsWith("BUSY", StringComparison.Ordinal)
        || message.StartsWith("TRYAGAIN", StringComparison.Ordinal) || message.StartsWith("MASTERDOWN", StringComparison.Ordinal)
        || message.StartsWith("READONLY", StringComparison.Ordinal) || message.StartsWith("CLUSTERDOWN", StringComparison.Ordinal)
        || message.StartsWith("MOVED", StringComparison.Ordinal) || message.StartsWith("ASK", StringComparison.Ordinal);

    /// <summary>Stops: first gives queued operations up to the drain time to reach Redis (when it is there), then
    /// logs what is still queued as dropped.</summary>
    public void Dispose()
    {
        if (_queue.Count > 0 && _redis.IsConnected && _settings.DisposeDrain > TimeSpan.Zero)
        {
            try { Abandonable(Task.Run(ReplayOnce)).Wait(_settings.DisposeDrain); }
            catch (Exception ex) { Log.DrainFailed(_logger, Short(ex)); }
        }
        var left = _queue.Clear();
        if (left.Length > 0) Dropped(left, "the cache is disposed with operations Redis has not received");
        _stopping.Cancel();
        DistributedTelemetry.Unregister(this);
        _backplane.Unsubscribe();
        if (_connection.Multiplexer is { } connection)
        {
            connection.ConnectionFailed -= OnConnectionFailed;
            connection.ConnectionRestored -= OnConnectionRestored;
            if (_ownsConnection) connection.Dispose();
        }
    }
}
