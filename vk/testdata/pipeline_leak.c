// pipeline_leak.c: lavapipe (Mesa 22.3.6, LLVM 15) keeps about 100 KiB of
// memory for every compute pipeline created and destroyed. This plain
// Vulkan program, with no gan-vk code in it, shows it:
//
//	gcc -O1 -o /tmp/leak vk/testdata/pipeline_leak.c -lvulkan && (cd shaders/spv && /tmp/leak 0 && /tmp/leak 1)
//
// prints "pipelines=0: 0 KiB per iteration" and "pipelines=1: 105 KiB per
// iteration" on the project machine (2026-11-27). TestOpenCloseHundredTimes
// allows for it.
#include <vulkan/vulkan.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static long rss(void){FILE*f=fopen("/proc/self/status","r");char l[256];long v=0;while(fgets(l,256,f))if(!strncmp(l,"VmRSS:",6))v=atol(l+6);fclose(f);return v;}
int main(int argc,char**argv){
  int withPipe=atoi(argv[1]);
  FILE*f=fopen("axpy.spv","rb");fseek(f,0,SEEK_END);long n=ftell(f);rewind(f);uint32_t*code=malloc(n);fread(code,1,n,f);fclose(f);
  VkApplicationInfo app={VK_STRUCTURE_TYPE_APPLICATION_INFO};app.apiVersion=VK_API_VERSION_1_1;
  VkInstanceCreateInfo ii={VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};ii.pApplicationInfo=&app;VkInstance inst;vkCreateInstance(&ii,0,&inst);
  uint32_t c=1;VkPhysicalDevice pd;vkEnumeratePhysicalDevices(inst,&c,&pd);
  float pr=1;VkDeviceQueueCreateInfo q={VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};q.queueCount=1;q.pQueuePriorities=&pr;
  VkDeviceCreateInfo di={VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};di.queueCreateInfoCount=1;di.pQueueCreateInfos=&q;VkDevice d;vkCreateDevice(pd,&di,0,&d);
  VkDescriptorSetLayoutBinding b[2]={{0,VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,1,VK_SHADER_STAGE_COMPUTE_BIT,0},{1,VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,1,VK_SHADER_STAGE_COMPUTE_BIT,0}};
  long r0=0;
  for(int i=0;i<1200;i++){
    if(i==200)r0=rss();
    VkShaderModuleCreateInfo si={VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};si.codeSize=n;si.pCode=code;VkShaderModule m;vkCreateShaderModule(d,&si,0,&m);
    VkDescriptorSetLayoutCreateInfo li={VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};li.bindingCount=2;li.pBindings=b;VkDescriptorSetLayout sl;vkCreateDescriptorSetLayout(d,&li,0,&sl);
    VkPushConstantRange pc={VK_SHADER_STAGE_COMPUTE_BIT,0,4};
    VkPipelineLayoutCreateInfo pli={VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};pli.setLayoutCount=1;pli.pSetLayouts=&sl;pli.pushConstantRangeCount=1;pli.pPushConstantRanges=&pc;VkPipelineLayout pl;vkCreatePipelineLayout(d,&pli,0,&pl);
    if(withPipe){
      VkComputePipelineCreateInfo ci={VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};ci.stage.sType=VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;ci.stage.stage=VK_SHADER_STAGE_COMPUTE_BIT;ci.stage.module=m;ci.stage.pName="main";ci.layout=pl;
      VkPipeline p; VkResult res=vkCreateComputePipelines(d,0,1,&ci,0,&p); if(res){printf("err %d\n",res);return 1;}
      vkDestroyPipeline(d,p,0);
    }
    vkDestroyPipelineLayout(d,pl,0);vkDestroyDescriptorSetLayout(d,sl,0);vkDestroyShaderModule(d,m,0);
  }
  printf("pipelines=%d: %ld KiB per iteration\n",withPipe,(rss()-r0)/1000);
  vkDestroyDevice(d,0);vkDestroyInstance(inst,0);return 0;
}
