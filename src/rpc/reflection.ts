/**
 * Server reflection on the gRPC port (behaviour.md O6) with the real file descriptors under
 * their real names (`fulcrum/v1/balancer.proto`, `google/protobuf/duration.proto`,
 * `grpc/health/v1/health.proto`, ...), every dependency included, so `buf curl` and grpcurl
 * can list, describe and call every method without a local schema.
 *
 * @grpc/reflection serves whatever FileDescriptorProtos it is handed in a proto-loader
 * package definition; proto-loader itself would hand it files merged per package under
 * synthesized names without dependencies, which tools cannot resolve. The descriptors here
 * are the ones buf compiled into gen/.
 */
import { type DescFile, type DescService, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type * as grpc from "@grpc/grpc-js";
import { ReflectionService } from "@grpc/reflection";
import { file_grpc_health_v1_health } from "../../gen/grpc/health/v1/health_pb.js";

/** The files declaring `services` and the health service, and everything they import. */
function filesWithDependencies(services: readonly DescService[]): DescFile[] {
  const seen = new Map<string, DescFile>();
  const visit = (file: DescFile) => {
    if (seen.has(file.proto.name)) return;
    seen.set(file.proto.name, file);
    for (const dependency of file.dependencies) visit(dependency);
  };
  for (const service of services) visit(service.file);
  visit(file_grpc_health_v1_health);
  return [...seen.values()];
}

/** Adds grpc.reflection v1 and v1alpha to `server`, describing `services` and grpc.health.v1. */
export function addReflection(server: grpc.Server, services: readonly DescService[]): void {
  const fileDescriptorProtos = filesWithDependencies(services).map((file) =>
    Buffer.from(toBinary(FileDescriptorProtoSchema, file.proto)),
  );
  // The shape @grpc/reflection reads from a proto-loader PackageDefinition: entries whose
  // fileDescriptorProtos it indexes by each file's own name.
  const packageDefinition = { files: { format: "", fileDescriptorProtos } };
  new ReflectionService(packageDefinition as never).addToServer(server);
}
