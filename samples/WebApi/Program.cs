using Fusion.Samples.WebApi;

// dotnet run --project samples/WebApi   (then: curl localhost:5000/products/1, /prices/1, /health)
await SampleApp.Build(args).RunAsync();
