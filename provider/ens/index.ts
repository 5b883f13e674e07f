export * from "./client";
export * from "./errors";
export * from "./credentials";
export * from "./types";
