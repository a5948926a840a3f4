// fabplan serve on Azure Container Apps, signing in to Fabric as a user-assigned managed identity
// (the Container Apps form of workload identity: no secret anywhere), with the health probes wired
// to /healthz and /readyz. docs/serve.md explains each part.
//
//   az deployment group create -g RG -f deploy/container-apps/fabplan-serve.bicep \
//     -p environmentId=... identityId=... identityClientId=... image=...
// Give the identity access to the workspaces and allow service principals in the Fabric tenant
// settings first; plans come from the image (COPY them in a Dockerfile FROM fabplan) or an Azure
// Files volume.

param location string = resourceGroup().location
@description('Resource id of the Container Apps environment')
param environmentId string
@description('Resource id of the user-assigned managed identity fabplan acts as')
param identityId string
@description('Client id of that identity')
param identityClientId string
@description('Image built from the repository Dockerfile, with the plans under /plans')
param image string
param watch string = '/plans/sales.star@prod'
param interval string = '10m'
@secure()
@description('Slack or Teams incoming webhook for drift notifications (optional)')
param webhookUrl string = ''

resource serve 'Microsoft.App/containerApps@2024-03-01' = {
  name: 'fabplan-serve'
  location: location
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityId}': {} }
  }
  properties: {
    environmentId: environmentId
    configuration: {
      activeRevisionsMode: 'Single'
      // Internal only: the status page and /metrics are for the platform team, not the internet.
      ingress: { external: false, targetPort: 8080, transport: 'http' }
      secrets: empty(webhookUrl) ? [] : [ { name: 'webhook-url', value: webhookUrl } ]
    }
    template: {
      // One replica: cycles of a pair must not overlap, and --reconcile runs hold the state lock.
      scale: { minReplicas: 1, maxReplicas: 1 }
      containers: [
        {
          name: 'fabplan'
          image: image
          args: [ 'serve', '--auth=managed-identity', '--watch=${watch}', '--interval=${interval}', '--addr=:8080' ]
          env: concat([
            // managed-identity mode: AZURE_CLIENT_ID names the user-assigned identity.
            { name: 'AZURE_CLIENT_ID', value: identityClientId }
          ], empty(webhookUrl) ? [] : [ { name: 'FABPLAN_WEBHOOK_URL', secretRef: 'webhook-url' } ])
          resources: { cpu: json('0.25'), memory: '0.5Gi' }
          probes: [
            { type: 'Liveness', httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 10, failureThreshold: 3 }
            { type: 'Readiness', httpGet: { path: '/readyz', port: 8080 }, periodSeconds: 15, failureThreshold: 2 }
            { type: 'Startup', httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 2, failureThreshold: 30 }
          ]
        }
      ]
    }
  }
}
